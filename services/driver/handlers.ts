/**
 * The TypeScript driver as a bus service: the handler table of proto service `Driver`
 * (proto/driver.proto) over a LocalDriver, registered under the configured bus name
 * (AGORA_DRIVER_SERVICE, default `driver.local`) rather than the proto name, so that
 * several drivers can serve the one contract side by side.
 */
import type { DriverDefinition } from '../../lib/gen/agora/Driver';
import { loadProto } from '../../lib/rpc/proto';
import type { Implementation, ServiceImpl } from '../../lib/rpc/service';
import type { LocalDriver } from './local-driver';

export function buildDriverHandlers(driver: LocalDriver): Implementation<DriverDefinition> {
  return {
    Create: (request) => driver.create(request),
    Start: (request) => driver.start(request.id),
    Stop: (request) => driver.stop(request.id),
    Delete: (request) => driver.delete(request.id),
    Status: (request) => driver.status(request.id),
    List: (request) => ({ nodes: driver.list(request.owner) }),
    Update: (request) => driver.update(request.id, request.name, request.size),
  };
}

/** The driver service as lib/rpc serves it, under bus name `busName`. */
export function buildDriverService(driver: LocalDriver, busName: string): ServiceImpl<DriverDefinition> {
  return {
    name: busName,
    definition: loadProto('driver.proto').agora.Driver.service,
    handlers: buildDriverHandlers(driver),
  };
}
