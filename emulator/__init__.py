"""The composition on top of the apps: URL wiring, the cross-app dashboard,
the emulator's own API (the clock) and `runinstance`, which starts one
instance's processes. It may import every app; no app imports it."""
