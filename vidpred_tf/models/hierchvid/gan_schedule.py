"""The sticky ``updateD`` / ``updateG`` flags of ``train_{penn,h36m}.py`` (spec 5.2, quirk 9).

Both flags start True. After each iteration's updates the original re-evaluates ``d_loss_fake`` and
``d_loss_real`` and then:

* either below ``margin`` (0.3): D stops updating;
* either above ``1 - margin``: G stops updating;
* both stopped: both start again.

A flag that went off stays off until both are off (it is never switched back on by the losses alone).
"""

from __future__ import annotations

import dataclasses
from typing import Tuple

DEFAULT_MARGIN = 0.3


@dataclasses.dataclass
class StickyGanSchedule:
    """``update(d_fake, d_real)`` applies the rule once and returns the new ``(update_d, update_g)``."""

    margin: float = DEFAULT_MARGIN
    update_d: bool = True
    update_g: bool = True

    def update(self, d_fake: float, d_real: float) -> Tuple[bool, bool]:
        d_fake, d_real = float(d_fake), float(d_real)
        if d_fake < self.margin or d_real < self.margin:
            self.update_d = False
        if d_fake > 1.0 - self.margin or d_real > 1.0 - self.margin:
            self.update_g = False
        if not self.update_d and not self.update_g:
            self.update_d = self.update_g = True
        return self.update_d, self.update_g

    @property
    def flags(self) -> Tuple[bool, bool]:
        return self.update_d, self.update_g
