#!/usr/bin/ruby
# frozen_string_literal: true

# The `rbecho` service: an example Ruby worker on the Agora bus.
#
#   AGORA_BUS_URL=tcp://127.0.0.1:5555 /usr/bin/ruby workers/ruby/example_worker.rb
#
# stdout carries one line, {"ready": true, "endpoints": {"bus": …}, "service": "rbecho"}, printed
# when every worker socket has connected to the broker. Logs are JSON lines on stderr.
# SIGTERM or SIGINT: ask the broker for no more requests, finish in-flight calls, DISCONNECT,
# exit 0 (1 when the drain outlasts 10 s and calls are lost).

require_relative 'lib/agora_bus'

SERVICE = 'rbecho'
MAX_SLEEP_MS = 60_000

def bad_params(text, data = nil)
  AgoraBus::AgoraError.new('AGORA_ERR_RPC_BAD_PARAMS', "Invalid parameters: #{text}", data)
end

def number?(value)
  value.is_a?(Integer) || value.is_a?(Float)
end

HANDLERS = {
  # Answers its parameter unchanged; public, so the gateway may call it for a signed-in user.
  'echo' => AgoraBus.public_handler(->(value = nil) { value }, params: {}, result: {},
                                                              summary: 'Answers its parameter unchanged'),
  # a + b for two numbers.
  'add' => lambda do |a, b|
    raise bad_params('add takes two numbers') unless number?(a) && number?(b)

    a + b
  end,
  # The upper-case form of a string.
  'upper' => lambda do |text|
    raise bad_params('upper takes a string') unless text.is_a?(String)

    text.upcase
  end,
  # Fails on purpose: AGORA_ERR_RPC_BAD_PARAMS, or with kind "internal" an unexpected exception.
  'fail' => lambda do |kind = 'bad-params'|
    raise 'an unexpected failure whose text must not leak' if kind == 'internal'

    raise bad_params('fail always fails', { 'kind' => kind })
  end,
  # Answers `ms` after that many milliseconds (heartbeats keep flowing meanwhile).
  'sleep' => lambda do |ms|
    raise bad_params("sleep takes an integer from 0 to #{MAX_SLEEP_MS}") unless ms.is_a?(Integer) && ms.between?(0, MAX_SLEEP_MS)

    sleep(ms / 1000.0)
    ms
  end,
  # The process id of the worker that served the call.
  'pid' => -> { Process.pid }
}.freeze

def main
  config = begin
    AgoraBus.env_config
  rescue ArgumentError => e
    warn("#{SERVICE}: #{e.message}")
    return 78 # EX_CONFIG, as the TypeScript processes
  end
  log = AgoraBus::JsonLog.new(SERVICE)
  ready = lambda do
    $stdout.puts(JSON.generate({ ready: true, endpoints: { bus: config[:endpoint] }, service: SERVICE }))
    $stdout.flush
    log.info('ready', endpoints: { bus: config[:endpoint] })
  end
  worker = AgoraBus::Worker.new(service: SERVICE, handlers: HANDLERS, endpoint: config[:endpoint],
                                concurrency: config[:concurrency], on_ready: ready, log: log)
  %w[TERM INT].each { |signal| Signal.trap(signal) { worker.stop(signal: "SIG#{signal}") } }
  worker.run ? 0 : 1 # 1: the drain outlasted drain_ms and calls still held are lost
end

exit(main) if $PROGRAM_NAME == __FILE__
