"""setup.cfg's version ranges admit the exact stack that `make setup` installs (nothing is
installed here: both files are read and compared)."""

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

from helpers.requirements import pins, ranges


@pytest.mark.parametrize('option, key, pinned', [
    ('install_requires', None, 'stack.txt'),
    ('options.extras_require', 'deploy', 'deploy.txt'),
    ('options.extras_require', 'tests', 'stack.txt'),
    ('options.extras_require', 'lint', 'lint.txt'),
])
def test_setup_cfg_ranges_admit_the_pinned_stack(option, key, pinned):
    versions = pins(pinned)
    for requirement in ranges(option, key):
        name = requirement.name.lower()
        assert name in versions, f'{name} has a range in setup.cfg but no pin in {pinned}'
        assert requirement.specifier.contains(versions[name]), \
            f'setup.cfg {requirement} excludes the pinned {name}=={versions[name]}'


def test_ranges_are_ranges_not_pins():
    for requirement in (ranges('install_requires') + ranges('options.extras_require', 'deploy')
                        + ranges('options.extras_require', 'lint')):
        assert all(spec.operator != '==' for spec in requirement.specifier), str(requirement)


def test_the_check_can_fail():
    requirement = Requirement('mmcv>=2.0.0,<2.2.0')
    assert not requirement.specifier.contains(Version('2.2.0'))
    assert requirement.specifier.contains(pins('stack.txt')['mmcv'])
