"""The password policy (stated in SECURITY.md): long enough, not guessable from the context.

In the spirit of NIST SP 800-63B: length over composition rules (no "one digit, one symbol"
demands), and a refusal of passwords an attacker tries first: the user's own name or tenant,
the service's name, common words padded with digits or symbols, and a few keyboard runs.
"""

from __future__ import annotations

import re

MIN_LENGTH = 12
MAX_LENGTH = 256
MIN_DISTINCT = 5

# Words an attacker tries first; a password made of one of them (repeated or not) and only
# digits and symbols besides is refused.
COMMON_WORDS = frozenset(
    {
        "admin",
        "administrator",
        "batchscore",
        "changeme",
        "cumulocity",
        "default",
        "dragon",
        "football",
        "iloveyou",
        "letmein",
        "login",
        "master",
        "monkey",
        "passw",
        "passwd",
        "password",
        "passwrd",
        "psswrd",
        "passwort",
        "qwerty",
        "qwertyuiop",
        "qwertz",
        "secret",
        "sunshine",
        "welcome",
        "zementis",
    }
)
# Runs of digits and keyboard walks that pass the length rule.
RUNS = (
    "1234567890",
    "0987654321",
    "qwertyuiop",
    "asdfghjkl",
    "zxcvbnm",
    "1q2w3e4r5t",
    "1qaz2wsx3edc",
    "zaq12wsx",
)
_NOT_LETTERS = re.compile(r"[\W\d_]+")


def password_problems(password: str, user: str, tenant: str) -> list[str]:
    """What is wrong with ``password`` for ``user`` of ``tenant``; empty when it is acceptable."""
    if len(password) < MIN_LENGTH:
        return [f"The password must be at least {MIN_LENGTH} characters long."]
    if len(password) > MAX_LENGTH:
        return [f"The password must be at most {MAX_LENGTH} characters long."]
    problems = []
    if len(set(password)) < MIN_DISTINCT:
        problems.append(f"The password must hold at least {MIN_DISTINCT} different characters.")
    letters = _NOT_LETTERS.sub("", password).lower()
    context = {w for w in (_NOT_LETTERS.sub("", user).lower(), tenant.lower()) if len(w) >= 3}
    if letters and any(_repeats(letters, word) for word in COMMON_WORDS | context):
        problems.append(
            "The password must not be a common word, the user name or the tenant with digits "
            "or symbols around it."
        )
    lowered = password.lower()
    if any(run in lowered and len(lowered.replace(run, "")) < MIN_LENGTH // 2 for run in RUNS):
        problems.append("The password must not be built on a run of keys or digits.")
    return problems


def _repeats(letters: str, word: str) -> bool:
    """True if ``letters`` is ``word`` once or several times over."""
    return len(letters) % len(word) == 0 and letters == word * (len(letters) // len(word))
