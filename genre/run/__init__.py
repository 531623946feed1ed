"""The run core, one way up: encoding → fitting → tuning → trained → experiment / validation_run.

``Experiment`` turns a config into a ``TrainedRun``; ``validation_run`` refits a trained run on
the validation carve for sweeps; ``spaces`` lays a trained run's vector spaces out for the map.
"""

from genre.run.experiment import Experiment, load_from_config
from genre.run.fitting import RunResult
from genre.run.trained import TrainedRun

__all__ = ["Experiment", "RunResult", "TrainedRun", "load_from_config"]
