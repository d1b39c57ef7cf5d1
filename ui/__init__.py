import os

# Before any module of the app imports gradio: the app runs offline and must not call home.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
