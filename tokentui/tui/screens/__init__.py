"""One Screen per file; each is a mode of the App and gets its data from the App's reactives."""
