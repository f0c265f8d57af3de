"""Security test generation: an attack library crossed with strategies and channels.

`library` loads the attacks (YAML data in `attacks/`, by OWASP LLM Top 10 category),
`strategies` disguises a payload, `channels` delivers it, `description` reads the
workspace's description of the system under test, `generate` writes the suites and
`paraphrase` lets a model reword attacks when a key is set.
"""
