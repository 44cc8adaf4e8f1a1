"""The hub's HTTP routes, one module (one APIRouter) per area; sync/hub/app.py assembles them."""
