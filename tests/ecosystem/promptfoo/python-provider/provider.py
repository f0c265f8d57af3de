"""An offline promptfoo Python provider: the `call_api` contract, no hosted model."""


def call_api(prompt, options, context):
    topic = context["vars"]["topic"]
    option = options["config"]["someOption"]
    return {"output": f"Bananamax says: {prompt} ({topic}, {option}) 🍌"}
