# frozen_string_literal: true

# Agora bus SDK for Ruby: an MDP worker and client.
#
# Framing is ZeroMQ RFC 7/MDP 0.2 (https://rfc.zeromq.org/spec/7/) with RFC 8/MMI; bodies are
# msgpack-RPC ([0, msgid, method, params] -> [1, msgid, error, result]; [2, method, params]).
# It needs only ffi-rzmq and msgpack (Debian: ruby-ffi-rzmq, ruby-msgpack); docs/PROTOCOL.md is
# the wire contract.
#
#   AgoraBus::Worker.new(service: 'greeter', handlers: { 'greet' => ->(name) { "hi #{name}" } }).run
#   AgoraBus::Client.new.call('echo', 'echo', ['hi'])
#
# An endpoint, heartbeat_ms or liveness left nil comes from AGORA_BUS_URL, AGORA_HEARTBEAT_MS
# and AGORA_HEARTBEAT_LIVENESS (defaults tcp://127.0.0.1:5555, 2500, 3).

require 'ffi-rzmq'
require 'json'
require 'msgpack'
require 'socket'

module AgoraBus
  # RFC 7 frames and commands.
  MDPC01 = 'MDPC01'.b
  MDPW01 = 'MDPW01'.b
  READY = "\x01".b
  REQUEST = "\x02".b
  REPLY = "\x03".b
  HEARTBEAT = "\x04".b
  DISCONNECT = "\x05".b
  EMPTY = ''.b
  MMI_SERVICE = 'mmi.service'.b
  # The reserved method answering which handlers are public (docs/PROTOCOL.md §14).
  DESCRIBE = '__describe__'
  MAX_MSGID = 0xFFFF_FFFF
  # Most requests one worker socket may offer to hold (READY options, docs/PROTOCOL.md §3).
  MAX_SLOTS = 1024
  # HEARTBEAT's options frame while draining, {"slots": 0}: send this socket no more requests (docs/PROTOCOL.md §3).
  DRAIN = "\x81\xa5slots\x00".b

  DEFAULT_BUS_URL = 'tcp://127.0.0.1:5555'
  DEFAULT_HEARTBEAT_MS = 2500
  DEFAULT_LIVENESS = 3

  # The codes of lib/errors.ts this SDK raises itself, with the registry's message templates:
  # a raise site fills each %s; AgoraError.new(code) without a message keeps them, as
  # lib/errors.ts does (test/unit/sdk-errors.test.ts compares this table with the registry).
  MESSAGES = {
    'AGORA_ERR_INTERNAL' => 'Internal error',
    'AGORA_ERR_BUS_TIMEOUT' => 'Call to %s.%s passed its deadline',
    'AGORA_ERR_BUS_DISCONNECTED' => 'Lost the connection to the broker',
    'AGORA_ERR_BUS_BAD_MESSAGE' => 'Malformed bus message: %s',
    'AGORA_ERR_RPC_NO_METHOD' => 'Service %s has no method %s',
    'AGORA_ERR_RPC_BAD_PARAMS' => 'Invalid parameters: %s'
  }.freeze

  # A failure that travels on the bus as {code, message, data?} in the msgpack-RPC error slot
  # (docs/PROTOCOL.md §8).
  class AgoraError < StandardError
    attr_reader :code, :data

    def initialize(code, message = nil, data = nil)
      @code = code
      @data = data
      super(message || MESSAGES.fetch(code, code))
    end

    def to_wire
      wire = { 'code' => code, 'message' => message }
      wire['data'] = data unless data.nil?
      wire
    end

    # The error of a response, rebuilt on the caller's side.
    def self.from_wire(wire)
      if wire.is_a?(Hash) && wire['code'].is_a?(String)
        text = wire['message'].is_a?(String) ? wire['message'] : 'Remote error'
        return new(wire['code'], text, wire['data'])
      end
      new('AGORA_ERR_INTERNAL', wire.is_a?(String) ? wire : 'Remote error', wire)
    end
  end

  INTERNAL = AgoraError.new('AGORA_ERR_INTERNAL').to_wire.freeze

  module_function

  # msgpack with UTF-8 strings as str and binary (ASCII-8BIT) strings as bin, so both survive
  # the trip to TypeScript and back; integers stay integers (uint64 up to 2^53-1).
  def pack(value)
    MessagePack.pack(value)
  end

  def unpack(data)
    MessagePack.unpack(data)
  end

  def msgid?(value)
    value.is_a?(Integer) && value >= 0 && value <= MAX_MSGID
  end

  # [kind, msgid, method, params, error, result] of a msgpack-RPC body; raises ArgumentError.
  def decode_message(body)
    m = unpack(body)
    raise ArgumentError, 'body is not a msgpack-rpc array' unless m.is_a?(Array) && m[0].is_a?(Integer)

    case m
    in [0, Integer => id, String => method, Array => params] if msgid?(id) then [0, id, method, params, nil, nil]
    in [1, Integer => id, error, result] if msgid?(id) then [1, id, nil, nil, error, result]
    in [2, String => method, Array => params] then [2, nil, method, params, nil, nil]
    else raise ArgumentError, 'not a msgpack-rpc request, response or notification'
    end
  rescue MessagePack::UnpackError, EOFError => e
    raise ArgumentError, "undecodable msgpack: #{e.message}"
  end

  # The msgid of a request body that does not decode, read from its first items as the broker
  # reads it (docs/PROTOCOL.md §3: a worker with slots is matched by it), else nil: never 0,
  # which could name another request of the same client (docs/PROTOCOL.md §6).
  def peek_msgid(body)
    items = MessagePack::Unpacker.new
    items.feed(body)
    return nil unless items.read_array_header == 4 && items.read.eql?(0)

    id = items.read
    msgid?(id) ? id : nil
  rescue StandardError
    nil
  end

  # The optional metadata frame (docs/PROTOCOL.md §7) as a Hash; anything unreadable is {}.
  def decode_meta(frame)
    return {} if frame.nil? || frame.empty?

    meta = unpack(frame)
    meta.is_a?(Hash) ? meta : {}
  rescue StandardError
    {}
  end

  # Wall clock in ms since the epoch, for deadlines.
  def now_ms
    Process.clock_gettime(Process::CLOCK_REALTIME, :millisecond)
  end

  # Monotonic seconds, for heartbeats.
  def monotonic
    Process.clock_gettime(Process::CLOCK_MONOTONIC)
  end

  # Reads and checks environment variables, collecting every bad one (as lib/config.ts does).
  class EnvReader
    attr_reader :problems

    def initialize(env = ENV)
      @env = env
      @problems = []
    end

    def string(name, default)
      raw = @env[name].to_s.strip
      raw.empty? ? default : raw
    end

    # A value matching `pattern` (whole), described as `what` when it does not.
    def matching(name, default, pattern, what)
      value = string(name, default)
      return value if pattern.match?(value)

      @problems << "#{name} must be #{what}, got #{@env[name].inspect}"
      default
    end

    def integer(name, default, low, high)
      raw = @env[name].to_s
      return default if raw.strip.empty?

      value = Integer(raw, 10, exception: false)
      return value if value && value >= low && value <= high

      @problems << "#{name} must be an integer from #{low} to #{high}, got #{raw.inspect}"
      default
    end

    def boolean(name, default)
      raw = @env[name].to_s.strip.downcase
      return default if raw.empty?
      return true if %w[1 true yes on].include?(raw)
      return false if %w[0 false no off].include?(raw)

      @problems << "#{name} must be true or false, got #{@env[name].inspect}"
      default
    end

    # Raises one ArgumentError naming every bad variable read so far.
    def check!
      raise ArgumentError, "invalid configuration: #{@problems.join('; ')}" unless @problems.empty?
    end
  end

  # The brokers of an endpoint list: "tcp://a:5555,tcp://b:5555" names two.
  def endpoints_of(endpoint)
    endpoint.split(',').map(&:strip).reject(&:empty?)
  end

  # { endpoint:, heartbeat_ms:, liveness:, concurrency: } from the environment; ArgumentError
  # naming every bad variable.
  def env_config(env = ENV)
    read = EnvReader.new(env)
    config = read_config(read)
    read.check!
    config
  end

  # The bus settings through `read`, which collects the problems (a process reading settings
  # of its own too checks them all at once).
  def read_config(read)
    {
      curve: read_curve(read),
      endpoint: read.string('AGORA_BUS_URL', DEFAULT_BUS_URL),
      heartbeat_ms: read.integer('AGORA_HEARTBEAT_MS', DEFAULT_HEARTBEAT_MS, 10, 600_000),
      liveness: read.integer('AGORA_HEARTBEAT_LIVENESS', DEFAULT_LIVENESS, 1, 100),
      concurrency: read.integer('AGORA_WORKER_CONCURRENCY', 4, 1, MAX_SLOTS)
    }
  end

  # AGORA_BUS_CURVE, AGORA_BUS_CERT and AGORA_BUS_SERVER_KEY as the socket's CURVE options
  # ({ public_key:, secret_key:, server_key: }, Z85), or nil when CURVE is off (docs/PROTOCOL.md §15).
  def read_curve(read)
    mode = read.matching('AGORA_BUS_CURVE', 'off', /\A(on|off)\z/i, 'one of on, off').downcase
    return nil if mode == 'off'

    curve = {}
    begin
      cert = read.string('AGORA_BUS_CERT', '')
      raise ArgumentError, 'must name a secret certificate file when AGORA_BUS_CURVE is on' if cert.empty?

      keys = load_certificate(cert)
      raise ArgumentError, "#{cert} holds no secret key (a public certificate?)" unless keys[:secret]

      curve[:public_key] = keys[:public]
      curve[:secret_key] = keys[:secret]
    rescue ArgumentError, SystemCallError => e
      read.problems << "AGORA_BUS_CERT #{e.message}"
    end
    begin
      server = read.string('AGORA_BUS_SERVER_KEY', '')
      raise ArgumentError, "must be the broker's public key (Z85) or its certificate file" if server.empty?

      curve[:server_key] = server.length == 40 && !server.end_with?('.key') ? server : load_certificate(server)[:public]
    rescue ArgumentError, SystemCallError => e
      read.problems << "AGORA_BUS_SERVER_KEY #{e.message}"
    end
    curve
  end

  # The Z85 keys of a czmq / pyzmq certificate file (public-key, secret-key under `curve`).
  def load_certificate(file)
    keys = {}
    File.foreach(file) do |line|
      next unless (m = /\A\s+(public|secret)-key\s*=\s*"?([^"\s]{40})"?\s*\z/.match(line))

      keys[m[1].to_sym] = m[2]
    end
    raise ArgumentError, "#{file} has no curve public-key" unless keys[:public]

    keys
  end

  # Make `socket` a CURVE client with `curve` (from read_curve); nil leaves it NULL.
  def apply_curve(socket, curve)
    return unless curve

    socket.setsockopt(ZMQ::CURVE_SERVERKEY, curve[:server_key])
    socket.setsockopt(ZMQ::CURVE_PUBLICKEY, curve[:public_key])
    socket.setsockopt(ZMQ::CURVE_SECRETKEY, curve[:secret_key])
  end

  # The metadata frame of the request the calling handler serves ({} outside a handler).
  def current_meta
    Thread.current[:agora_bus_meta] || {}
  end

  # The signed-in user the gateway calls a public method for (metadata `user`), else nil.
  def current_user
    user = current_meta['user']
    user.is_a?(String) ? user : nil
  end

  # A handler marked public: the gateway may call it for a signed-in user, as
  # POST /v1/rpc/<service>/<method> with the JSON body as its one param (docs/PROTOCOL.md §14).
  # It calls and reports its parameters as the handler it wraps.
  class PublicHandler
    # What `__describe__` says of it: { 'params' => schema, 'result' => schema, 'summary' => text }.
    attr_reader :description

    def initialize(handler, description)
      @handler = handler
      @description = description.freeze
    end

    def call(*args)
      @handler.call(*args)
    end

    def parameters
      @handler.respond_to?(:parameters) ? @handler.parameters : [[:rest]]
    end
  end

  # Mark `handler` public, with the JSON Schemas (Hashes, draft-07) of its one param and its
  # result: `'greet' => AgoraBus.public_handler(greet, params: { 'type' => 'string' })`.
  def public_handler(handler, params: nil, result: nil, summary: nil)
    description = {}
    description['params'] = params unless params.nil?
    description['result'] = result unless result.nil?
    description['summary'] = summary unless summary.nil?
    PublicHandler.new(handler, description)
  end

  # The answer to `__describe__` for these handlers: { 'methods' => { name => description } }.
  def describe(handlers)
    methods = handlers.each_with_object({}) do |(name, handler), out|
      out[name.to_s] = handler.description if handler.is_a?(PublicHandler) && !name.to_s.start_with?('__')
    end
    { 'methods' => methods }
  end

  # An exception as pino's `err` serializer shapes it, for the process's own log only.
  def err_fields(error)
    { 'type' => error.class.name, 'message' => error.message,
      'stack' => error.full_message(highlight: false) }
  end

  # pino-shaped JSON lines ({level, time, pid, hostname, svc, ..., msg}); stderr unless told.
  class JsonLog
    LEVELS = { 'trace' => 10, 'debug' => 20, 'info' => 30, 'warn' => 40, 'error' => 50,
               'fatal' => 60, 'silent' => 100 }.freeze

    def initialize(svc, stream: $stderr, level: nil, base: nil, lock: nil)
      @stream = stream
      @min = LEVELS.fetch(level || ENV['AGORA_LOG_LEVEL'].to_s, 30)
      @base = base || { 'pid' => Process.pid, 'hostname' => Socket.gethostname, 'svc' => svc }
      @lock = lock || Mutex.new
    end

    def child(**fields)
      JsonLog.new(nil, stream: @stream, level: LEVELS.key(@min), base: @base.merge(stringify(fields)), lock: @lock)
    end

    def log(level, msg, **fields)
      return if LEVELS.fetch(level) < @min

      line = { 'level' => LEVELS[level], 'time' => AgoraBus.now_ms }.merge(@base, stringify(fields), 'msg' => msg)
      text = JSON.generate(line)
      @lock.synchronize do
        @stream.write("#{text}\n")
        @stream.flush
      end
    rescue StandardError
      nil # a log line that cannot be written must not fail the caller
    end

    %w[debug info warn error].each { |level| define_method(level) { |msg, **fields| log(level, msg, **fields) } }

    private

    def stringify(fields)
      fields.transform_keys(&:to_s)
    end
  end
end

require_relative 'agora_bus/worker'
require_relative 'agora_bus/client'
