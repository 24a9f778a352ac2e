package fleet

import (
	"errors"
	"fmt"
	"io"
	"os/exec"
	"runtime"
	"time"
)

// Config is a fleet of mock worker processes on one port. It is plain
// data; Run validates it.
type Config struct {
	// Addr is the listen address, host:port; port 0 picks a free one.
	Addr string
	// Procs is the number of workers; 0 means auto: one worker to start
	// with, and one more whenever the room left below the high-water marks
	// of the workers that accept falls under a quarter of one worker's
	// mark, or (while there are fewer than queueGrowMax workers) the
	// accept queue of one of them is at least half full (a connection
	// storm: past a full queue the kernel answers with SYN cookies and
	// resets; more workers are more queues), while MemAvailable covers a
	// full worker (its high-water mark times 32 KiB) plus 1 GiB, up to
	// MaxWorkers.
	Procs int
	// FDLimit, when positive, is the soft open-file limit each worker sets
	// for itself (at least MinFDLimit, at most the hard limit). Otherwise a
	// worker has the limit Go gives a program: the hard limit.
	FDLimit int
	// Command returns the command of one new worker: this program, with the
	// flags of the supervisor's own command line. Run adds the worker's
	// files, its WorkerEnv entry, its output and its process group; an Env
	// left nil means this process's environment.
	Command func() *exec.Cmd
	// Log receives the supervisor's notices and its workers' standard
	// error, whole lines, each worker line prefixed with "ssebench mock
	// worker N: ". nil discards them.
	Log io.Writer
	// Ready, when not nil, is called once, when the first workers serve
	// (all of them with a fixed Procs, the first one in auto mode), with
	// the address they share and their number.
	Ready func(addr string, workers int)
	// StopTimeout bounds the graceful stop of each worker on shutdown;
	// then it is killed. 0 means 10s.
	StopTimeout time.Duration
}

// The supervision rules.
const (
	// MaxRestarts is how many times a worker that served is restarted
	// after it died; its next death stops the fleet with an error.
	MaxRestarts = 5
	// firstRestartDelay is the delay of a worker's first restart, doubled
	// for each of its next ones (100ms .. 1.6s).
	firstRestartDelay = 100 * time.Millisecond
	// startTimeout bounds the time from a worker's exec to its first
	// report; a worker that takes longer is killed.
	startTimeout = 30 * time.Second
	// refreshEvery is the period of the supervisor's own scrapes, which
	// keep the counts of a worker that dies (see Run).
	refreshEvery = time.Second
)

// The auto-growth rule's constants.
const (
	growBelow    = 4        // grow when the room is below High/growBelow
	streamBudget = 32 << 10 // bytes of memory one stream may take
	memFloor     = 1 << 30  // bytes of MemAvailable kept for everything else
	// queueCheckEvery is how often auto mode looks at the accept queues.
	queueCheckEvery = 100 * time.Millisecond
)

// queueGrowMax is how many workers a full accept queue alone may grow the
// fleet to: twice the CPUs, at least 8. Past the CPUs more workers accept
// no faster, but each adds a queue (the listen backlog, net.core.somaxconn)
// that holds a storm's connections until they are accepted.
func queueGrowMax() int { return max(8, 2*runtime.NumCPU()) }

// queueFull reports whether an accept queue holding queued connections
// of backlog is full enough to grow the fleet: at least half.
func queueFull(queued, backlog int) bool { return backlog > 0 && 2*queued >= backlog }

func (c *Config) validate() error {
	var errs []error
	if c.Procs < 0 || c.Procs > MaxWorkers {
		errs = append(errs, fmt.Errorf("fleet: %d workers: want 1..%d, or 0 for auto", c.Procs, MaxWorkers))
	}
	if c.FDLimit < 0 || c.FDLimit > 0 && c.FDLimit < MinFDLimit {
		errs = append(errs, fmt.Errorf("fleet: fd limit %d: want 0 (the hard limit) or at least %d", c.FDLimit, MinFDLimit))
	}
	if c.Command == nil {
		errs = append(errs, errors.New("fleet: no worker command"))
	}
	if c.StopTimeout < 0 {
		errs = append(errs, errors.New("fleet: negative stop timeout"))
	}
	return errors.Join(errs...)
}
