package host

// InstancesMade is how many instances m has made, for tests.
func InstancesMade(m *Module) int64 { return m.made.Load() }

// InstancesPerModule is the bound on a module's instances.
const InstancesPerModule = instancesPerModule
