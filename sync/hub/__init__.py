"""The reference hub: the county relay that stations sync to (FastAPI + uvicorn, SQLAlchemy).

Start it with `intake hub serve --db URL --blobs DIR` or `python -m sync.hub`.
"""
