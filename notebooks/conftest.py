"""nbval settings for the notebooks: TensorFlow's start-up chatter on stderr is never compared,
nor a live widget's view (its model id changes with every run)."""


def pytest_collectstart(collector):
    if hasattr(collector, "skip_compare"):
        collector.skip_compare += ("stderr", "text/html", "application/javascript",
                                   "application/vnd.jupyter.widget-view+json")
