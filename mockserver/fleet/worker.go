package fleet

import (
	"encoding/json"
	"fmt"
	"strconv"
)

// WorkerEnv is the environment variable that makes a re-executed `ssebench
// mock` a worker of a supervisor. Its value is the worker's description, in
// JSON; Run sets it, users do not.
const WorkerEnv = "SSEBENCH_MOCK_WORKER"

// MaxWorkers bounds the workers of one supervisor, in auto mode too.
const MaxWorkers = 64

// The files a worker inherits from its supervisor (exec.Cmd.ExtraFiles
// start at descriptor 3).
const (
	fdShared  = 3 // its socket of the port's SO_REUSEPORT group
	fdAdmin   = 4 // a private loopback listener for the supervisor's scrapes
	fdControl = 5 // a Unix socket to the supervisor: reports out, confirmations in
	fdHand    = 6 // a Unix packet socket to the supervisor: connections out and in
)

// maxLine bounds one control message, either way.
const maxLine = 1024

// workerSpec is the value of WorkerEnv.
type workerSpec struct {
	// Slot is the worker's number, 0..MaxWorkers-1: its socket's index in
	// the SO_REUSEPORT group and the "worker" label of its metrics.
	Slot int `json:"slot"`
	// FDLimit, when positive, is the soft open-file limit the worker sets
	// for itself.
	FDLimit int `json:"fd_limit,omitempty"`
	// Metrics is the URL of the supervisor's summed /metrics.
	Metrics string `json:"metrics"`
}

// report is one line a worker writes to its supervisor: the first one
// carries its watermarks and its open files before any connection.
type report struct {
	Marks *Marks `json:"marks,omitempty"`
	Base  int    `json:"base,omitempty"`
	gateState
}

// confirmation is one line a supervisor writes to a worker: new
// connections go around it since its pause Confirm; Others says whether
// another worker accepts, so that the worker hands over what is still
// queued on its socket rather than serve it.
type confirmation struct {
	Confirm uint64 `json:"confirm"`
	Others  bool   `json:"others"`
}

// Worker reports whether getenv describes a worker process, and which.
func Worker(getenv func(string) string) (slot int, ok bool) {
	spec, err := parseSpec(getenv(WorkerEnv))
	if err != nil {
		return 0, false
	}
	return spec.Slot, true
}

func parseSpec(v string) (workerSpec, error) {
	var spec workerSpec
	if v == "" {
		return spec, fmt.Errorf("fleet: %s is not set", WorkerEnv)
	}
	if err := json.Unmarshal([]byte(v), &spec); err != nil {
		return spec, fmt.Errorf("fleet: %s: %w", WorkerEnv, err)
	}
	if spec.Slot < 0 || spec.Slot >= MaxWorkers {
		return spec, fmt.Errorf("fleet: %s: slot %d out of range [0, %d)", WorkerEnv, spec.Slot, MaxWorkers)
	}
	if spec.FDLimit != 0 && spec.FDLimit < MinFDLimit {
		return spec, fmt.Errorf("fleet: %s: fd limit %d below %d", WorkerEnv, spec.FDLimit, MinFDLimit)
	}
	return spec, nil
}

// workerName is a worker's metrics label and the name it is reported by.
func workerName(slot int) string { return strconv.Itoa(slot) }
