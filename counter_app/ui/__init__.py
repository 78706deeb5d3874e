"""The Qt user interface (界面): main window, wizards, widgets. The only package that imports Qt."""
