"""`flask run` from the repo root finds this file (the project's documented way to start the app).

    flask run                      # http://127.0.0.1:5000
    python app.py [--port N]       # the same, without the flask command

Outputs of video jobs go to ./instance (override with FACIAL_FEEDBACK_INSTANCE).
"""
import os

from facial_feedback.web import create_app

app = create_app(instance_path=os.environ.get("FACIAL_FEEDBACK_INSTANCE")
                 or os.path.join(os.path.dirname(os.path.abspath(__file__)), "instance"))

if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser(description="Run the facial-feedback web app.")
    ap.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this computer only)")
    ap.add_argument("--port", type=int, default=5000)
    args = ap.parse_args()
    app.run(host=args.host, port=args.port, threaded=True)
