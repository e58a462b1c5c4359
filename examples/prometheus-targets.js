// A Prometheus scrape configuration for the local mesh: one `kubernetes-pods` job (the name
// Istio's Prometheus addon gives the pod scrape) reading its targets from a file that lists
// every running pod's agent port (IP:15020, path /stats/prometheus, the annotations Istio's
// injector sets) with the pod's labels, as Kubernetes service discovery would give them.
// Prometheus re-reads the file as pods start, so the config is written once.
import fs from 'node:fs';
import path from 'node:path';

export class PrometheusTargets {
  /** @param {string} dir where prometheus.yml and targets.json go */
  constructor(dir) {
    this.dir = dir;
    this.targets = [];
    fs.mkdirSync(dir, { recursive: true });
    this.configFile = path.join(dir, 'prometheus.yml');
    this.targetsFile = path.join(dir, 'targets.json');
    fs.writeFileSync(
      this.configFile,
      [
        '# Written by minimesh for the local mesh: scrape every sidecar and gateway as Istio\'s addon does.',
        'global:',
        '  scrape_interval: 5s',
        '  evaluation_interval: 5s',
        'scrape_configs:',
        '- job_name: kubernetes-pods',
        '  honor_labels: true',
        '  metrics_path: /stats/prometheus',
        '  file_sd_configs:',
        `  - files: [${JSON.stringify(this.targetsFile)}]`,
        '    refresh_interval: 5s',
        '',
      ].join('\n'),
    );
    this.write();
  }

  /** Adds a pod: its agent port, its namespace, name and labels as target labels. */
  add(pod) {
    this.targets.push({ targets: [`${pod.ip}:15020`], labels: { namespace: pod.namespace, pod: pod.name, ...pod.labels } });
    this.write();
  }

  write() {
    const tmp = `${this.targetsFile}.tmp`;
    fs.writeFileSync(tmp, `${JSON.stringify(this.targets, null, 2)}\n`);
    fs.renameSync(tmp, this.targetsFile); // Prometheus never reads half a file
  }

  /** The command that runs a Prometheus on this config. */
  command(listen = '127.0.0.1:9090') {
    return `prometheus --config.file=${this.configFile} --storage.tsdb.path=${path.join(this.dir, 'data')} --web.listen-address=${listen}`;
  }
}
