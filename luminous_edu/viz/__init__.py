"""The dashboard: the only package that imports ipywidgets, bokeh or IPython.

(The live dashboard arrives with the dashboard issue; nothing here yet.)
"""
