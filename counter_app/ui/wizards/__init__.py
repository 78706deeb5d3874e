"""业务办理向导: the generic `FlowWizard` over any flow, and `WizardLauncher` — the shell's
``ShellServices.start_flow`` (开始办理 / Enter on a menu item opens the item's wizard)."""

from counter_app.ui.wizards.flow_wizard import FlowWizard
from counter_app.ui.wizards.launcher import CapturingRenderer, WizardLauncher

__all__ = ["CapturingRenderer", "FlowWizard", "WizardLauncher"]
