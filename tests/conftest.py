import os
import shutil

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")


@pytest.fixture()
def newborn_catalog(tmp_path):
    """A catalog with just the 新生儿出生 bundle and its materials: small, and stable while the
    bundled catalog's other bundles change."""
    from app.catalog import BUNDLED_CATALOG

    root = tmp_path / "catalog"
    (root / "bundles").mkdir(parents=True)
    (root / "materials").mkdir()
    shutil.copy(BUNDLED_CATALOG / "catalog.json", root)
    for f in ("common.json", "personal_life.json"):
        shutil.copy(BUNDLED_CATALOG / "materials" / f, root / "materials")
    shutil.copy(BUNDLED_CATALOG / "bundles" / "newborn_birth.json", root / "bundles")
    return root
