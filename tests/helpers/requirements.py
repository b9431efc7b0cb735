"""The project's requirement files read as packaging's objects: setup.cfg's ranges and the
exact pins of requirements/*.txt."""
import configparser
import os.path as osp

from packaging.requirements import Requirement
from packaging.version import Version

from .paths import REPO


def pins(name: str) -> dict:
    """{package: version} of a requirements file of exact pins."""
    found = {}
    with open(osp.join(REPO, 'requirements', name)) as f:
        for line in f:
            line = line.split('#')[0].strip()
            if line:
                requirement = Requirement(line)
                (spec, ) = requirement.specifier
                assert spec.operator == '==', f'{name}: {line} is not an exact pin'
                found[requirement.name.lower()] = Version(spec.version)
    return found


def ranges(option: str, key: str = None) -> list:
    cfg = configparser.ConfigParser()
    cfg.read(osp.join(REPO, 'setup.cfg'))
    text = cfg['options'][option] if key is None else cfg[option][key]
    return [Requirement(line) for line in text.strip().splitlines() if line.strip()]
