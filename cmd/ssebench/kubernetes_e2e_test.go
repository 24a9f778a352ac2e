package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/ssebench/ssebench/reports"
	"github.com/ssebench/ssebench/scenarios/kubernetes"
)

// The Kubernetes manifests, run with local processes standing in for
// pods: the shards Job's container and the merge Job's container, with
// exactly their arguments, expanded as the kubelet expands them, and their
// volumes as directories.

// kubeExpand expands $(VAR) references as the kubelet does in a
// container's args: a defined variable is replaced, $$ is a literal $, an
// undefined reference stays as written.
func kubeExpand(s string, env map[string]string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 >= len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
			continue
		case '(':
			if end := strings.IndexByte(s[i:], ')'); end > 0 {
				if v, ok := env[s[i+2:i+end]]; ok {
					b.WriteString(v)
					i += end
					continue
				}
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func TestKubeExpand(t *testing.T) {
	env := map[string]string{"A": "1", "POD": "p-0"}
	for in, want := range map[string]string{
		"--x=$(A)": "--x=1", "/r/s-$(A)-$(POD).json": "/r/s-1-p-0.json", "$(B)": "$(B)", "$$(A)": "$(A)", "a$": "a$", "$(A": "$(A",
	} {
		if got := kubeExpand(in, env); got != want {
			t.Errorf("kubeExpand(%q) = %q, want %q", in, got, want)
		}
	}
}

// kubePod is a pod spec's container with its volumes made directories.
type kubePod struct {
	c      corev1.Container
	mounts map[string]string // mount path -> directory
}

// readManifest decodes the named manifest of scenarios/kubernetes.
func readManifest(t *testing.T, name string, out any) {
	t.Helper()
	b, err := kubernetes.Manifests.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, out); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

// newKubePod maps spec's volumes to directories: a ConfigMap's keys
// become files in a fresh directory, a PersistentVolumeClaim is
// claims[claimName] (shared by every pod).
func newKubePod(t *testing.T, spec corev1.PodSpec, cms map[string]*corev1.ConfigMap, claims map[string]string) *kubePod {
	t.Helper()
	p := &kubePod{c: spec.Containers[0], mounts: map[string]string{}}
	for _, v := range spec.Volumes {
		var dir string
		switch {
		case v.ConfigMap != nil:
			dir = t.TempDir()
			for k, body := range cms[v.ConfigMap.Name].Data {
				if err := os.WriteFile(filepath.Join(dir, k), []byte(body), 0o644); err != nil {
					t.Fatal(err)
				}
			}
		case v.PersistentVolumeClaim != nil:
			dir = claims[v.PersistentVolumeClaim.ClaimName]
		default:
			t.Fatalf("volume %s: not a ConfigMap or a claim", v.Name)
		}
		for _, m := range p.c.VolumeMounts {
			if m.Name == v.Name {
				p.mounts[m.MountPath] = dir
			}
		}
	}
	return p
}

// command is the container's command line for the pod whose environment
// is env (after the container's own env was resolved into it): its args
// expanded, its mount paths replaced by their directories.
func (p *kubePod) command(ctx context.Context, bin string, env map[string]string) *exec.Cmd {
	args := make([]string, len(p.c.Args))
	for i, a := range p.c.Args {
		a = kubeExpand(a, env)
		for mp, dir := range p.mounts {
			a = strings.ReplaceAll(a, mp+"/", dir+"/")
		}
		args[i] = a
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	return cmd
}

// podEnv resolves the container's env for one pod as the kubelet would:
// ConfigMap keys, the pod's name and the Job's uid label, plus the Job's
// JOB_COMPLETION_INDEX and the test's extra variables.
func podEnv(t *testing.T, c corev1.Container, cms map[string]*corev1.ConfigMap, index int, podName, jobUID string, extra map[string]string) map[string]string {
	t.Helper()
	env := map[string]string{"JOB_COMPLETION_INDEX": fmt.Sprint(index)}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom == nil:
			env[e.Name] = e.Value
		case e.ValueFrom.ConfigMapKeyRef != nil:
			r := e.ValueFrom.ConfigMapKeyRef
			env[e.Name] = cms[r.Name].Data[r.Key]
		case e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "metadata.name":
			env[e.Name] = podName
		case e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "metadata.labels['batch.kubernetes.io/controller-uid']":
			env[e.Name] = jobUID
		default:
			t.Fatalf("env %s: a source this test does not stand in for", e.Name)
		}
	}
	for k, v := range extra {
		env[k] = v
	}
	return env
}

// TestKubernetesShardsAndMerge: three shard "pods" of the Indexed Job, the
// second run twice (a retried pod), all given the same start time, then
// the merge Job's command: one verdict (exit code), one JUnit valid
// against junit-10.xsd, the retried shard counted once and said so. With
// a shard's result gone, the same merge fails and says which is missing.
func TestKubernetesShardsAndMerge(t *testing.T) {
	if testing.Short() {
		t.Skip("builds ssebench and runs four shard processes")
	}
	lint, lintErr := exec.LookPath("xmllint")
	if lintErr != nil && os.Getenv("CI") == "true" {
		t.Fatal("xmllint is not installed (apt-get install libxml2-utils)")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	bin := filepath.Join(t.TempDir(), "ssebench")
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	mock := runStartMock(t, nil)

	var shardsJob, mergeJob batchv1.Job
	var scenarioCM corev1.ConfigMap
	readManifest(t, "shards-job.yaml", &shardsJob)
	readManifest(t, "merge-job.yaml", &mergeJob)
	readManifest(t, "scenario-configmap.yaml", &scenarioCM)
	n := int(*shardsJob.Spec.Completions)
	// The ConfigMap the README creates with kubectl: a start a few
	// seconds ahead, as a time with seconds.
	startAt := time.Now().Add(4 * time.Second).UTC().Truncate(time.Second).Add(time.Second)
	cms := map[string]*corev1.ConfigMap{
		"ssebench-scenario": &scenarioCM,
		"ssebench-start":    {Data: map[string]string{"start-at": startAt.Format(time.RFC3339)}},
	}
	results := t.TempDir()
	claims := map[string]string{"ssebench-results": results}
	// What the cluster would differ in: the target (the mock on loopback,
	// path and query kept) and a short run.
	extra := map[string]string{"SSEBENCH_TARGET": mock.URL, "SSEBENCH_DURATION": "2s", "SSEBENCH_CONNECTIONS": fmt.Sprint(2 * n), "SSEBENCH_QUIET": "true"}

	shardPod := newKubePod(t, shardsJob.Spec.Template.Spec, cms, claims)
	runShard := func(index int, podName string) {
		env := podEnv(t, shardPod.c, cms, index, podName, "job-uid-1", extra)
		cmd := shardPod.command(ctx, bin, env)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil {
			t.Errorf("pod %s: %v\n%s", podName, err, stderr.String())
		}
	}
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { runShard(i, fmt.Sprintf("ssebench-shards-%d-first", i)) })
	}
	wg.Wait()
	runShard(1, "ssebench-shards-1-retry") // index 1 retried, after the others ended
	if t.Failed() {
		return
	}

	mergePod := newKubePod(t, mergeJob.Spec.Template.Spec, cms, claims)
	merge := func() (int, string, string) {
		cmd := mergePod.command(ctx, bin, map[string]string{})
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		if err != nil && cmd.ProcessState == nil {
			t.Fatalf("merge: %v", err)
		}
		return cmd.ProcessState.ExitCode(), stdout.String(), stderr.String()
	}
	code, stdout, stderr := merge()
	if code != exitOK {
		t.Fatalf("merge: exit %d, want 0\n%s\n%s", code, stdout, stderr)
	}
	for _, w := range []string{"PASS  all shards merged (--require-all-shards)", "PASS  errors.rate < 1%",
		"shard 2/3 ran 2 times (a retried pod?): merged only the last attempt, ssebench-shards-1-retry", "left out ssebench-shards-1-first"} {
		if !strings.Contains(stdout, w) {
			t.Errorf("merge output lacks %q:\n%s", w, stdout)
		}
	}

	// Counted once: the merged counters are the sum of the three kept
	// attempts, exactly.
	shards, err := filepath.Glob(filepath.Join(results, "shard-*.json"))
	if err != nil || len(shards) != n+1 {
		t.Fatalf("%d result files (%v), want %d", len(shards), err, n+1)
	}
	var kept reports.Counters
	var all int64
	var first, retry *reports.File
	for _, p := range shards {
		f := runReadResult(t, p)
		all += f.Counters.StreamsStarted
		if f.Attempt == nil || f.Attempt.RunID != "job-uid-1" || f.Attempt.StartOffsetMS == nil || !f.Attempt.StartAt.Equal(startAt) {
			t.Errorf("%s: attempt %+v, want run job-uid-1 and the start time", filepath.Base(p), f.Attempt)
			continue
		}
		switch f.Attempt.ID {
		case "ssebench-shards-1-first":
			first = f
			continue
		case "ssebench-shards-1-retry":
			retry = f
		}
		kept.Add(f.Counters)
	}
	m := runReadResult(t, filepath.Join(results, "merged.json"))
	if m.Counters.StreamsStarted != kept.StreamsStarted || m.Counters.Events != kept.Events || m.Counters.Bytes != kept.Bytes {
		t.Errorf("merged streams %d events %d bytes %d, want the kept attempts' %d %d %d",
			m.Counters.StreamsStarted, m.Counters.Events, m.Counters.Bytes, kept.StreamsStarted, kept.Events, kept.Bytes)
	}
	if m.Counters.StreamsStarted == all {
		t.Errorf("merged streams %d = all four files': the retried shard counted twice", all)
	}
	if len(m.Shards) != n || m.Shards[1].Attempt != "ssebench-shards-1-retry" || len(m.Shards[1].Superseded) != 1 || m.Shards[1].Superseded[0] != "ssebench-shards-1-first" {
		t.Errorf("merged shards %+v", m.Shards)
	}
	// The retry began after the first attempt's run ended: its start
	// offset says so.
	if first != nil && retry != nil && *retry.Attempt.StartOffsetMS < *first.Attempt.StartOffsetMS+first.DurationS*1000 {
		t.Errorf("retry offset %v ms, first attempt %v ms + %v s", *retry.Attempt.StartOffsetMS, *first.Attempt.StartOffsetMS, first.DurationS)
	}
	junit := filepath.Join(results, "merged-junit.xml")
	checkJUnit(t, lint, junit, `<property name="attempts_left_out" value="2/3:ssebench-shards-1-first">`, `failures="0"`)
	if _, err := os.Stat(filepath.Join(results, "merged.html")); err != nil {
		t.Error(err)
	}

	// A shard's result gone (its pod failed for good): the same merge
	// fails, says which shard is missing, and its JUnit fails too.
	if err := os.Remove(shards[len(shards)-1]); err != nil { // shard-2-...: 3/3
		t.Fatal(err)
	}
	code, stdout, stderr = merge()
	if code != exitGateFailed || !strings.Contains(stdout, "merged 2 of 3 shards; missing 3/3") || !strings.Contains(stderr, "all shards merged") {
		t.Errorf("merge without shard 3/3: exit %d, want 1\n%s\n%s", code, stdout, stderr)
	}
	checkJUnit(t, lint, junit, `<failure message="all shards merged (--require-all-shards): merged 2 of 3 shards; missing 3/3"`, `failures="1"`)
}

// checkJUnit validates path against junit-10.xsd (when xmllint is there)
// and checks that it holds every string of want.
func checkJUnit(t *testing.T, lint, path string, want ...string) {
	t.Helper()
	if lint != "" {
		schema := filepath.Join("..", "..", "reports", "testdata", "junit", "junit-10.xsd")
		if b, err := exec.Command(lint, "--noout", "--schema", schema, path).CombinedOutput(); err != nil {
			t.Errorf("%s does not validate: %v\n%s", path, err, b)
		}
	}
	x, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range want {
		if !regexp.MustCompile(regexp.QuoteMeta(w)).Match(x) {
			t.Errorf("JUnit lacks %s:\n%s", w, x)
		}
	}
}
