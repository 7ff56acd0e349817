"""Only here for one setuptools bug; everything else is in pyproject.toml.

setuptools' editable installs (``pip install -e .``) skip ``data-files``: its
``editable_wheel`` asks the distribution for ``has_data``, a method distributions do not
have (pypa/setuptools#3399). The data file they skip, ``etc/jupyter/
jupyter_server_config.d/luminous_edu.json``, enables the Jupyter server extension that
serves BokehJS to the dashboard (``luminous_edu/viz/bokehjs.py``), and Binder installs
the repository with ``-e .[hub]``. This distribution answers that question.
"""

from setuptools import setup
from setuptools.dist import Distribution


class WithDataFiles(Distribution):
    def has_data(self) -> bool:
        return bool(self.has_data_files())


setup(distclass=WithDataFiles)
