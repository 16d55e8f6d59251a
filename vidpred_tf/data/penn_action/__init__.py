"""Penn Action readers (the hierchvid layout: :mod:`vidpred_tf.data.penn_action.hierchvid`)."""
