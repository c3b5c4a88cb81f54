"""The operators' control room (Streamlit): `streamlit_app.py` and one module per page under
`app_pages/`; reads go through `readers`, actions through `rakuten_assets.operations`."""
