"""The line length of setup.cfg's [flake8] section holds for every Python file of the repo (no
flake8 in the environment: this is the one rule of it that reviews kept finding broken)."""
import configparser
import os.path as osp
from pathlib import Path

from conftest import REPO

SOURCE_DIRS = ('hourglass_plugin', 'tools', 'tests', 'configs')


def long_lines(root: str, limit: int) -> list:
    """``path:line (length)`` of every line over ``limit`` characters in the .py files under
    ``root``'s source directories."""
    found = []
    for directory in SOURCE_DIRS:
        for path in sorted(Path(root, directory).rglob('*.py')):
            for number, line in enumerate(path.read_text(encoding='utf-8').splitlines(), 1):
                if len(line) > limit:
                    found.append(f'{path.relative_to(root)}:{number} ({len(line)})')
    return found


def test_no_line_over_the_flake8_limit():
    config = configparser.ConfigParser()
    config.read(osp.join(REPO, 'setup.cfg'))
    assert long_lines(REPO, config.getint('flake8', 'max-line-length')) == []


def test_long_lines_are_found(tmp_path):
    (tmp_path / 'tools').mkdir()
    (tmp_path / 'tools' / 'a.py').write_text('x = 1\n' + '#' * 101 + '\n')
    assert long_lines(str(tmp_path), 100) == ['tools/a.py:2 (101)']
    assert long_lines(str(tmp_path), 101) == []
