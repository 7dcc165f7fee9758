"""How and where a job runs, as opposed to what it computes: none of these
change a result, and results.json records them apart from the config."""

import dataclasses

from kd_tf.config import choices
from kd_tf.config.options import option


@dataclasses.dataclass(frozen=True)
class Runtime:
    data_dir: str | None = option(None, "TFDS data directory (default: ~/tensorflow_datasets).")
    output_dir: str | None = option(None, "Run directory (default: runs/<a name derived from the config>).")
    overwrite: bool = option(False, "Delete what --output_dir holds (finished or interrupted) and start again.")
    strategy: str = option("auto", "tf.distribute strategy.", choices=choices.STRATEGIES)
    tpu: str = option("", "TPU for --strategy=tpu: local, a TPU name, or grpc://host:port.")
    checkpoint_every_steps: int = option(0, "Also checkpoint every N steps within epochs (long epochs); "
                                         "0: after every epoch only.", lower=0)
