"""`hpsweep dashboard`: a live, read-only page over a results store.

source.py  the one door into the results (public readers only, cached per sweep listing)
views.py   what each panel draws, aggregated with Polars
form.py    the recommend form, parsed by the CLI's own options
app.py     the Starlette app: the page, its assets, three JSON reads
server.py  checks, binding the port, uvicorn
static/    the page (HTML, CSS, one script); plotly.js comes from the installed plotly package
"""
