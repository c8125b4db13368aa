"""`dreamrunner edit WS`: a local web editor for plan.json (docs/editor.md).

- ``session.py``: what the editor does with a workspace, without HTTP: load plan.json, validate an edited plan with
  the CLI's own checks, compute a scene's SR3AI mask picture, save (lock, digest check, atomic write, storyboard,
  render dry run).
- ``server.py``: the HTTP server (standard library), bound to 127.0.0.1, a random token in every URL, a fixed
  allow-list of names.
- ``static/``: the page (one HTML, one CSS, one JS file; no CDN, no build step).
"""
