package projections

import (
	"syscall"
	"time"
)

// cpuTime is the process's user + system CPU time so far: throughput per
// CPU-second does not depend on what else runs on the machine.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
