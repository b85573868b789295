"""nbval settings for the notebooks: TensorFlow's start-up chatter on stderr is never compared."""


def pytest_collectstart(collector):
    if hasattr(collector, "skip_compare"):
        collector.skip_compare += ("stderr", "text/html", "application/javascript")
