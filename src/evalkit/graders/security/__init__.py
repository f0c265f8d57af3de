"""Security detectors: graders for attack cases (`evalkit security generate` writes them).

Importing this package registers `leaks-canary`, `no-pii`, `no-exfil-link`,
`injection-followed`, `refusal` and `unsafe-output` (`llm-refusal`, a judge, lives with
the model-graded graders). Detectors named after the harm (`leaks-canary`,
`injection-followed`, `unsafe-output`) pass when they find it, like every grader named
after what it looks for: suites use them negated (`not-leaks-canary`).
"""

from evalkit.graders.security import canary, injection, links, pii, refusal, unsafe

DETECTORS = (canary, injection, links, pii, refusal, unsafe)
