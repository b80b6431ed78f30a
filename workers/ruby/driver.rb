#!/usr/bin/ruby
# frozen_string_literal: true

# The Ruby compute driver on the bus (Procfile `driver-ruby`): serves the driver contract of
# proto/driver.proto as AGORA_RUBY_DRIVER_SERVICE (default `driver.ruby`).
#
#   AGORA_BUS_URL=tcp://127.0.0.1:5555 /usr/bin/ruby workers/ruby/driver.rb
#
# stdout carries one line, {"ready": true, "endpoints": {"bus": …}, "service": …}, once every
# worker socket has connected to the broker; logs are JSON lines on stderr. A bad setting exits
# 78 naming every bad variable; a state directory held by another running driver exits 1. It
# first adopts the nodes a driver before it left running (docs/COMPUTE.md "Driver restarts").
# SIGTERM or SIGINT: finish in-flight calls, DISCONNECT, stop every node's process (SIGTERM,
# SIGKILL after the grace period) unless AGORA_DRIVER_KEEP_NODES, exit 0.

require_relative 'lib/agora_driver'

def main
  bus, config = settings
  return 78 if bus.nil? # EX_CONFIG, as the TypeScript processes

  log = AgoraBus::JsonLog.new('driver-ruby')
  store = state_dir(bus, config, log)
  return 1 if store.nil?

  driver = AgoraDriver::Driver.new(config: config, log: log.child(mod: 'driver'), store: store)
  ready = lambda do
    $stdout.puts(JSON.generate({ ready: true, endpoints: { bus: bus[:endpoint] }, service: config[:service] }))
    $stdout.flush
    log.info('ready', endpoints: { bus: bus[:endpoint] }, service: config[:service])
  end
  worker = AgoraBus::Worker.new(service: config[:service], handlers: driver.handlers, endpoint: bus[:endpoint],
                                concurrency: bus[:concurrency], on_ready: ready, log: log)
  %w[TERM INT].each { |signal| Signal.trap(signal) { worker.stop(signal: "SIG#{signal}") } }
  worker.run
  driver.shutdown
  0
end

# The driver's state directory, locked; nil after saying why it cannot be had.
def state_dir(bus, config, log)
  AgoraDriver::StateDir.new(AgoraDriver::StateDir.path_of(config[:state_dir], config[:service], bus[:endpoint]),
                            log.child(mod: 'state'))
rescue RuntimeError, SystemCallError => e
  log.error('failed to start', err: AgoraBus.err_fields(e))
  nil
end

# [bus settings, driver settings], or nil after naming every bad variable on stderr.
def settings
  read = AgoraBus::EnvReader.new
  settings = [AgoraBus.read_config(read), AgoraDriver.read_config(read)]
  read.check!
  settings
rescue ArgumentError => e
  warn("driver-ruby: #{e.message}")
  nil
end

exit(main) if $PROGRAM_NAME == __FILE__
