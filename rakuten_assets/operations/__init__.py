"""What operators do and see, the same whichever door (API, CLI, control room) they use:
``actions`` (retrain, rollback, roll-forward, re-run the gate, alerts; with their checks),
``audit`` (the row each action leaves) and ``reports`` (the read models a person looks at).
"""
