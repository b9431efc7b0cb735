"""Key renaming by ordered regex rules, the mechanism every converter shares."""
import re
from typing import Callable, Dict, Iterable, Tuple, Union

#: (pattern, replacement string or function of the match), as for ``re.sub``
Rule = Tuple[str, Union[str, Callable[[re.Match], str]]]


def rename(key: str, rules: Iterable[Rule]) -> str:
    """Apply every ``(pattern, replacement)`` rule in order to ``key``."""
    for pattern, replacement in rules:
        key = re.sub(pattern, replacement, key)
    return key


def rename_all(state_dict: Dict, rules: Iterable[Rule]) -> Dict:
    """Rename every key; raise a ValueError if two source keys land on the same name."""
    rules = list(rules)
    out = {}
    for key, value in state_dict.items():
        new = rename(key, rules)
        if new in out:
            raise ValueError(f'two source keys map to {new!r} (one of them is {key!r})')
        out[new] = value
    return out
