package host

// InstancesMade is how many instances m has made, for tests.
func InstancesMade(m *Module) int64 { return m.made.Load() }

// InstancesPerModule is the bound on a module's instances.
const InstancesPerModule = instancesPerModule

// RestoreGas is what every call on m pays for its restore, for tests.
func RestoreGas(m *Module) uint64 { return m.restoreGas }
