"""One module per portal page, plus dialogs/ for the modal confirmations."""
