"""MSPred (AIS-Bonn/MSPred, Villar-Corrales et al. 2022): the experiment-folder workflow of its numbered scripts
(create, train, evaluate, figures), checkpoints, the ``vidpred predict`` adapter and the golden checks. The
networks, losses, schedulers and the Task are in :mod:`vidpred_tf.models.mspred`."""

from vidpred_tf.papers import Paper

_ENTRY = "vidpred_tf.papers.mspred.scripts"

PAPER = Paper(
    name="mspred",
    original="AIS-Bonn/MSPred",
    description="multi-scale hierarchical recurrent predictor and its baselines",
    entry_points={
        "train": f"{_ENTRY}.train:main",
        "01_create_experiment": f"{_ENTRY}.create_experiment:main",
        "02_train": f"{_ENTRY}.train:main",
        "03_evaluate": f"{_ENTRY}.evaluate:main",
        "04_generate_figs": f"{_ENTRY}.generate_figs:main",
        "04_process_metrics": f"{_ENTRY}.process_metrics:main",
        "05_assemble_figs": f"{_ENTRY}.assemble_figs:main",
        "aux_update_exp_params": f"{_ENTRY}.update_exp_params:main",
    },
    predictor="vidpred_tf.papers.mspred.predictor",
    converter="vidpred_tf.convert.mspred",
    golden="vidpred_tf.papers.mspred.golden",
)
