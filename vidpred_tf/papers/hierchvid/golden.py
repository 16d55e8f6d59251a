"""Golden check of the hierchvid port (``python -m vidpred_tf.golden hierchvid shared/golden/hierchvid``).

The cases of three parts, each found by its file layout (copies under other names are found too):

* :mod:`.golden_lstm`: the pose LSTM (``lstm``: outputs, loss, one TF1 RMSProp step, slots; ``lstm_inventory``);
* :mod:`.golden_perceptual`: the frozen AlexNet conv5 and hourglass features (``perceptual``);
* :mod:`.golden_imggen`: the image generator / discriminator (``imggen``: forward, losses, one G and one D Adam
  step, the test graph; ``imggen_inventory``).

``find_cases`` is the three modules' cases (each case checked once, by the module that found it);
``check_case`` hands a case to that module.
"""

from __future__ import annotations

from typing import Dict, List

from vidpred_tf.golden.common import GoldenCase
from vidpred_tf.papers.hierchvid import golden_imggen, golden_lstm, golden_perceptual

PARTS = (golden_lstm, golden_perceptual, golden_imggen)
# case kind -> the module that checks it (the kinds are the names of each module's layouts).
CHECKERS: Dict[str, object] = {layout.kind: module for module in PARTS for layout in module.LAYOUTS}


def find_cases(path) -> List[GoldenCase]:
    cases, seen = [], set()
    for module in PARTS:
        for case in module.find_cases(path):
            key = (case.kind, str(case.anchor))
            if key not in seen:
                seen.add(key)
                cases.append(case)
    return cases


def check_case(case: GoldenCase, report) -> None:
    if case.kind not in CHECKERS:
        raise ValueError(f"golden case {case.name}: unknown kind {case.kind!r} (kinds: {', '.join(CHECKERS)})")
    CHECKERS[case.kind].check_case(case, report)
