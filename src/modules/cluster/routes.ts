import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { contextOf } from '../../platform/http/auth.js';
import type { RouteOptions } from '../../platform/http/route-options.js';
import { responses, Uuid } from '../../platform/http/schemas.js';
import { Job } from '../../platform/jobs/schemas.js';
import { patterns } from '../../platform/validation.js';
import { AddNodeBody, Node, Placement, PlacementQuery } from './schemas.js';

const NodeMove = Type.Object({ instanceId: Uuid, job: Job, to: Type.String() }, { title: 'NodeMove' });

const NodeId = Type.Object({ id: Type.String({ pattern: patterns.nodeName }) });

/** The cluster's nodes (platform admins): add a host, drain or activate it, remove it. */
export const nodeRoutes: FastifyPluginAsyncTypebox<RouteOptions> = async (app, { services }) => {
  const { nodes, moves } = services;
  app.get(
    '/nodes',
    {
      schema: {
        tags: ['hosts'],
        summary: 'The hosts as nodes of the cluster: Swarm state, capacity, instances (platform admins)',
        response: responses({ 200: Type.Object({ nodes: Type.Array(Node) }) }),
      },
    },
    async (request) => ({ nodes: await nodes.list(contextOf(request).actor) }),
  );
  app.post(
    '/nodes',
    {
      schema: {
        tags: ['hosts'],
        summary:
          'Add a host (a Docker engine on TCP with mutual TLS): the first becomes the Swarm manager, the others join (platform admins)',
        body: AddNodeBody,
        response: responses({ 201: Type.Object({ node: Node }) }),
      },
    },
    async (request, reply) => {
      const ctx = contextOf(request);
      const host = await nodes.add(ctx, request.body);
      return reply.status(201).send({ node: await nodes.view(ctx.actor, host.id) });
    },
  );
  app.get(
    '/nodes/placement',
    {
      schema: {
        tags: ['hosts'],
        summary: 'Where a new instance of this size would go now, or why no node can take it (platform admins)',
        querystring: PlacementQuery,
        response: responses({ 200: Type.Object({ placement: Placement }) }),
      },
    },
    async (request) => ({ placement: await nodes.placement(contextOf(request).actor, request.query) }),
  );
  app.post(
    '/nodes/:id/drain',
    {
      schema: {
        tags: ['hosts'],
        summary:
          'Drain a node: it takes no new instances and its instances move to other nodes, one job each; Swarm drains it once it is empty (ask again then). Platform admins.',
        params: NodeId,
        response: responses({
          200: Type.Object({
            node: Node,
            moves: Type.Array(NodeMove),
            /** Instances that cannot move now, and why (busy, or no node has room). */
            refused: Type.Array(Type.Object({ instanceId: Uuid, label: Type.String(), reason: Type.String() })),
          }),
        }),
      },
    },
    async (request) => {
      const ctx = contextOf(request);
      await nodes.setAvailability(ctx, request.params.id, 'drain');
      const { queued, refused } = await moves.drain(ctx, request.params.id);
      return {
        node: await nodes.view(ctx.actor, request.params.id),
        moves: queued.map((m) => ({ instanceId: m.instanceId, job: m.job, to: m.to })),
        refused,
      };
    },
  );
  app.get(
    '/nodes/:id/moves',
    {
      schema: {
        tags: ['hosts'],
        summary:
          'The moves still going off a node (queued or running), as the drain answered them: a page reloaded during a drain follows them again. Platform admins.',
        params: NodeId,
        response: responses({ 200: Type.Object({ moves: Type.Array(NodeMove) }) }),
      },
    },
    async (request) => ({ moves: await moves.active(contextOf(request), request.params.id) }),
  );
  app.post(
    '/nodes/:id/activate',
    {
      schema: {
        tags: ['hosts'],
        summary: 'Let a drained node take instances again (platform admins)',
        params: NodeId,
        response: responses({ 200: Type.Object({ node: Node }) }),
      },
    },
    async (request) => {
      const ctx = contextOf(request);
      await nodes.setAvailability(ctx, request.params.id, 'active');
      return { node: await nodes.view(ctx.actor, request.params.id) };
    },
  );
  app.delete(
    '/nodes/:id',
    {
      schema: {
        tags: ['hosts'],
        summary: 'Remove a node without instances: it leaves the Swarm and Marina forgets it (platform admins)',
        params: NodeId,
        response: responses({ 204: Type.Null() }),
      },
    },
    async (request, reply) => {
      await nodes.remove(contextOf(request), request.params.id);
      return reply.status(204).send(null);
    },
  );
};
