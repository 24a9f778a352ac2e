// Package fleet runs the mock server as several processes on one port
// (`ssebench mock --procs N|auto`), so that one mock can hold more
// streams than one process's open-file limit allows. A supervisor opens
// one socket per worker in the port's SO_REUSEPORT group, re-executes the
// program once per worker with its socket, and keeps the sockets itself
// for the fleet's whole life.
//
// # Routing
//
// A classic BPF program attached to the group (SO_ATTACH_REUSEPORT_CBPF,
// see socket(7)) picks the socket of every new connection, at random among
// the workers that accept. Each worker counts its open files (those it
// started with plus one per client connection) against watermarks set by
// its soft RLIMIT_NOFILE (see Marks). At the high-water mark it asks the
// supervisor to route around it and accepts nothing until the supervisor
// confirms (or 2s pass). The connections the kernel had already queued on
// its socket (in a connection storm, up to the listen backlog) are then
// handed over, as file descriptors over a Unix socket (SCM_RIGHTS, see
// unix(7)), to the supervisor, which passes each to the accepting worker
// with the most room; the client keeps its TCP connection and notices
// nothing. With no other worker accepting, the worker serves its queue
// itself up to Cap and leaves the rest queued, so accept(2) never meets
// EMFILE. Below the low-water mark it takes new connections again. When
// every worker is above its mark, the program routes new connections to a
// worker being started, if any (its socket queues them until it serves),
// else over all of them; those that reach a worker at Cap wait in the
// kernel's queue until it has room, or until another worker accepts and
// takes them over.
//
// # Auto
//
// With Config.Procs 0 the fleet starts with one worker and starts one more
// whenever the room left below the high-water marks of the workers that
// accept falls under a quarter of one worker's mark, or, below twice the
// CPUs (at least 8) workers, whenever the accept queue of a worker that
// accepts is at least half full (TCP_INFO on its socket, looked at every
// 100ms: in a connection storm the kernel answers past a full queue with
// SYN cookies and resets, and each worker adds a queue), one at a time,
// while /proc/meminfo's MemAvailable covers a full worker (its high-water
// mark times 32 KiB, above the ~27 KiB an idle stream takes) plus 1 GiB,
// up to MaxWorkers (64). It never stops a worker it started.
//
// # Supervision
//
// A worker that dies after it served is restarted on its own socket
// (connections queued there wait for it), after 100ms, doubled for each
// restart of that worker, at most MaxRestarts (5) times; its sixth death,
// or a worker's death before it served, stops the fleet with an error
// naming the worker, its PID, how it ended and its last lines of output.
// On shutdown every worker gets SIGTERM, by its PID, and SIGKILL if it has
// not stopped after Config.StopTimeout. Each worker has a process group of
// its own and stops by itself when its supervisor's control socket
// closes.
//
// # Metrics
//
// Every worker's GET /metrics answers with the supervisor's one view,
// which scrapes every serving worker (at most 16 MiB and 5s each) and
// serves, in whichever exposition format the client asks for: the
// ssebench_mock_* counters and gauges summed over the workers (exactly:
// counters are summed at the moment of the scrape); the Go and process
// metrics and the ssebench_mock_worker_* gauges (connections, open_files
// and its marks, accepting, pauses_total) of each worker, labelled
// worker="N" (handed_off_total and handed_in_total count hand-overs);
// ssebench_mock_workers, ssebench_mock_worker_receiving,
// ssebench_mock_worker_restarts_total and ssebench_mock_handoffs_lost_total
// (hand-overs no worker could take: closed); and the supervisor's own process
// metrics, labelled worker="supervisor". A serving worker that does not
// answer fails the scrape rather than giving a partial sum. A dead
// worker's counters stay in the sums as of the supervisor's last scrape of
// it, at most one second before it died; the sums are exact while
// ssebench_mock_worker_restarts_total is 0.
//
// This package is Linux-only; elsewhere Run and ServeWorker return an
// error.
package fleet
