"""The pack's policies (`rules.POLICIES`), what they read (`model`), the declaration the stack
makes through its tags (`declaration`) and the chart facts the availability policy needs (`chart`).
Only `pack` imports pulumi-policy; the rest is the standard library."""
