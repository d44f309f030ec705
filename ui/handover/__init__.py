"""The handover panel, its dialogs and the handover PDF command."""
