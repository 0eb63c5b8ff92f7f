import type Docker from 'dockerode';
import { isNotFound, LABEL_KIND, LABEL_NAMESPACE } from './engine.js';

/** Docker networks of one engine beyond creating them (DockerEngine.ensureNetwork). */
export class DockerNetworks {
  constructor(private readonly docker: Docker) {}

  /** Attaches a container (created or running) to a network, once; `aliases` name it there. */
  async connect(network: string, container: string, aliases: string[]): Promise<void> {
    const current = await this.docker.getContainer(container).inspect();
    if (current.NetworkSettings.Networks?.[network]) return;
    try {
      await this.docker.getNetwork(network).connect({ Container: container, EndpointConfig: { Aliases: aliases } });
    } catch (error) {
      // Another job attached it in the meantime.
      const again = await this.docker.getContainer(container).inspect();
      if (!again.NetworkSettings.Networks?.[network]) throw error;
    }
  }

  async disconnect(network: string, container: string): Promise<void> {
    try {
      await this.docker.getNetwork(network).disconnect({ Container: container, Force: true });
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }

  async remove(name: string): Promise<void> {
    try {
      await this.docker.getNetwork(name).remove();
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }

  /** Names of the namespace's networks of one kind (labels as namespaceLabels sets them). */
  async listManaged(namespace: string, kind: string): Promise<string[]> {
    const list = await this.docker.listNetworks({
      filters: { label: [`${LABEL_NAMESPACE}=${namespace}`, `${LABEL_KIND}=${kind}`] },
    });
    return list.map((n) => n.Name);
  }
}
