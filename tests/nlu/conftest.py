import pytest

from tests.model import LoadedModel


@pytest.fixture(scope="session")
def model() -> LoadedModel:
    return LoadedModel()
