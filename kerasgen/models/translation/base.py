"""What the translation algorithms share: no sampling, no test step, configs without `data_shape`."""

from __future__ import annotations

from kerasgen.models.base import GenerativeModel


class TranslationModel(GenerativeModel):
    """Base of models that map images to images (`translate`) instead of drawing samples."""

    def sample(self, n, seed=None, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} maps source images to target images and draws no samples: "
                                  "use model.translate(source)")

    def test_step(self, data):
        return self.metric_results()

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config.pop("data_shape", None)  # the target shape, stored under its own name
        config.pop("standardize", None)
        return cls(**config)
