# frozen_string_literal: true

module AgoraBus
  # Serve `handlers` (a Hash: method name => callable) as `service` on the bus.
  #
  # A handler is called as handlers[method].call(*params) and returns a msgpack-able result;
  # it fails the call by raising AgoraError.new(code, message, data). Any other exception
  # answers AGORA_ERR_INTERNAL "Internal error" and is logged with its stack (its text never
  # travels). Params that do not fit the handler's arity answer AGORA_ERR_RPC_BAD_PARAMS.
  # Handlers wrapped by AgoraBus.public_handler are listed by the `__describe__` method the
  # worker adds (docs/PROTOCOL.md §14).
  #
  # One worker socket, driven by the thread calling run, serves `concurrency` requests at once
  # (1 to 1024): above 1 its READY offers that many slots (docs/PROTOCOL.md §3, Agora's
  # extension), and with 1 it is a plain RFC 7 worker. Handlers run on `concurrency` threads, so
  # heartbeats keep flowing during a long call. `on_ready` is called (on the run thread) once
  # the socket has connected to the broker.
  #
  # Several brokers (`endpoint` listing them, "tcp://a:5555,tcp://b:5555"): one Worker per
  # broker, each with its socket on its own thread, so the service registers with each; on_ready
  # is called once, when the first has connected (README "Several brokers").
  class Worker
    attr_reader :service

    def initialize(service:, handlers:, endpoint: nil, heartbeat_ms: nil, liveness: nil, concurrency: 1,
                   on_ready: nil, log: nil, drain_ms: 10_000, curve: nil)
      config = AgoraBus.env_config
      @curve = curve.nil? ? config[:curve] : curve || nil
      unless concurrency.is_a?(Integer) && concurrency.between?(1, MAX_SLOTS)
        raise ArgumentError, "concurrency must be an integer from 1 to #{MAX_SLOTS}, got #{concurrency.inspect}"
      end

      @endpoint = endpoint || config[:endpoint]
      @service = service
      @handlers = handlers.transform_keys(&:to_s)
      unless @handlers.key?(DESCRIBE)
        description = AgoraBus.describe(@handlers)
        @handlers[DESCRIBE] = -> { description }
      end
      @arities = @handlers.transform_values { |handler| arity_of(handler) }
      @heartbeat_s = (heartbeat_ms || config[:heartbeat_ms]) / 1000.0
      @liveness = liveness || config[:liveness]
      @concurrency = concurrency
      @on_ready = on_ready
      @log = (log || JsonLog.new(service)).child(mod: 'bus-worker', service: service)
      @drain_s = drain_ms / 1000.0
      @stopping = false
      @draining = false # the I/O loop has begun the stop (stop only asks for it)
      @stop_signal = nil
      @ran = false
      @announced = false
      @socket = nil
      @monitor = nil
      @generation = 0 # bumped at each new socket: a late reply is not sent on a newer one
      @in_flight = 0 # requests of the current socket not answered yet
      @disconnected = false # DISCONNECT said (or heard while stopping): nothing more to send
      @asked = false # our heartbeats ask the broker for no more requests (drain, docs/PROTOCOL.md §3)
      @linked = false # the socket has a TCP connection to the broker
      @expiry = 0
      @jobs = Queue.new
      @done = Queue.new
      @wake_r, @wake_w = IO.pipe
      @links = link_workers(handlers, heartbeat_ms, liveness, log, drain_ms)
    end

    # Stop taking work, finish what is in flight, say DISCONNECT. Safe from trap handlers and
    # threads; `signal` (e.g. "SIGTERM") is logged with the drain.
    def stop(signal: nil)
      @stop_signal = signal
      @stopping = true
      @links&.each { |link| link.stop(signal: signal) }
      wake
    end

    # Serve until stop; returns true once in-flight requests are answered and DISCONNECT said,
    # false when drain_ms passed first (the calls still held are lost). Several brokers: on each,
    # true only when every one drained in time.
    def run
      raise 'Worker#run may be called once' if @ran

      @ran = true
      return run_links if @links

      @ctx = ZMQ::Context.new
      @poller = ZMQ::Poller.new
      @poller.register_readable(@wake_r)
      @threads = Array.new(@concurrency) { Thread.new { job_loop } }
      open
      begin
        loop_until_stopped
      ensure
        shutdown
      end
    end

    private

    def link_workers(handlers, heartbeat_ms, liveness, log, drain_ms)
      endpoints = AgoraBus.endpoints_of(@endpoint)
      return nil if endpoints.size < 2

      ready = Mutex.new
      base = log || JsonLog.new(@service)
      endpoints.map do |endpoint|
        Worker.new(service: @service, handlers: handlers, endpoint: endpoint, heartbeat_ms: heartbeat_ms,
                   liveness: liveness, concurrency: @concurrency, log: base.child(broker: endpoint),
                   drain_ms: drain_ms, curve: @curve || false,
                   on_ready: -> { ready.synchronize { first_ready } })
      end
    end

    def first_ready
      return if @announced

      @announced = true
      @on_ready&.call
    end

    def run_links
      threads = @links.map { |link| Thread.new { link.run } }
      results = threads.map(&:value)
      @wake_r.close # each link has its own; this one served nothing
      @wake_w.close
      results.all?(true)
    end

    # ---- the I/O loop (owns the socket: ZeroMQ sockets are not thread-safe) ----

    def loop_until_stopped
      next_tick = AgoraBus.monotonic + @heartbeat_s
      drain_until = nil
      loop do
        if @stopping && drain_until.nil?
          drain_until = AgoraBus.monotonic + @drain_s
          begin_stop
        end
        return true if drain_until && @disconnected
        return drain_timed_out if drain_until && AgoraBus.monotonic >= drain_until

        wait = next_tick - AgoraBus.monotonic
        wait = [wait, drain_until - AgoraBus.monotonic].min if drain_until
        poll([wait, 0].max)
        finish_jobs
        now = AgoraBus.monotonic
        next unless now >= next_tick

        # A late tick is our own stall, not the broker's silence: push the expiry back by it.
        # Reading first is not enough: libzmq may not have moved what arrived meanwhile into the
        # socket yet (docs/PROTOCOL.md §5).
        @expiry += now - next_tick
        tick
        next_tick = now + @heartbeat_s
      end
    end

    def drain_timed_out
      @log.warn('drain timed out', busy: @in_flight, drain_ms: (@drain_s * 1000).round)
      false
    end

    def poll(seconds)
      # -1 is EINTR (a signal, e.g. the SIGTERM that calls stop): the loop looks again.
      return if @poller.poll((seconds * 1000).ceil) <= 0

      @poller.readables.dup.each do |readable|
        if readable.equal?(@wake_r) then drain_wake
        elsif readable.equal?(@monitor) then on_monitor(readable)
        elsif readable.equal?(@socket) then receive
        end
      end
    end

    def open
      sock = @ctx.socket(ZMQ::DEALER)
      sock.setsockopt(ZMQ::LINGER, 0)
      sock.setsockopt(ZMQ::SNDHWM, 1000)
      sock.setsockopt(ZMQ::RCVHWM, 1000)
      @linked = false
      @generation += 1
      watch_link(sock)
      AgoraBus.apply_curve(sock, @curve)
      sock.connect(@endpoint)
      @poller.register_readable(sock)
      @socket = sock
      @in_flight = 0 # the calls of the old socket were failed by the broker that held them
      @expiry = AgoraBus.monotonic + @heartbeat_s * @liveness
      ready = [EMPTY, MDPW01, READY, @service.b]
      # Agora's READY options (docs/PROTOCOL.md §3).
      ready << AgoraBus.pack({ 'slots' => @concurrency }) if @concurrency > 1
      send_frames(ready)
    end

    def close(linger_ms)
      drop_monitor
      return if @socket.nil?

      @poller.delete(@socket)
      @socket.setsockopt(ZMQ::LINGER, linger_ms)
      @socket.close
      @socket = nil
    end

    # No linger: a READY or HEARTBEAT still queued in the old socket must not reach a broker
    # that comes up later, which would register a worker that never answers.
    def reconnect(reason)
      @log.info('reconnecting to broker', reason: reason)
      close(0)
      open
    end

    def send_frames(frames)
      return if ZMQ::Util.resultcode_ok?(@socket.send_strings(frames, ZMQ::DONTWAIT))

      @log.debug('send dropped: queue to broker full')
    end

    # RFC 7 §Heartbeating: send ours every interval; a broker silent for liveness intervals means reconnect.
    def tick
      return if @disconnected

      # Not while the broker is unreachable: the queued READY reaches it when it is back, and a
      # socket abandoned just then would stay registered, swallowing requests.
      if AgoraBus.monotonic >= @expiry && !@stopping && @linked
        reconnect('broker silent')
      else
        heartbeat
      end
    end

    # While draining every HEARTBEAT repeats the ask: a send lost to a full queue is made good.
    def heartbeat
      send_frames(@asked ? [EMPTY, MDPW01, HEARTBEAT, DRAIN] : [EMPTY, MDPW01, HEARTBEAT])
    end

    def receive
      sock = @socket
      while sock && @socket.equal?(sock)
        frames = []
        return unless ZMQ::Util.resultcode_ok?(sock.recv_strings(frames, ZMQ::DONTWAIT))

        on_frames(frames)
      end
    end

    def on_frames(frames)
      if frames.size < 3 || frames[0] != EMPTY || frames[1] != MDPW01 || frames[2].bytesize != 1
        @log.warn('dropped malformed message from broker', frames: frames.size)
        return
      end
      @expiry = AgoraBus.monotonic + @heartbeat_s * @liveness
      case frames[2]
      when REQUEST then on_request(frames)
      when DISCONNECT
        # While stopping, the broker has forgotten us: nothing more to say.
        if @stopping then @disconnected = true
        else reconnect('broker said DISCONNECT')
        end
      when HEARTBEAT then nil
      else @log.warn('dropped unknown command from broker', command: frames[2].unpack1('H*'))
      end
    end

    # [""][MDPW01][REQUEST][client][""][body][meta?]
    def on_request(frames)
      if frames.size < 6 || frames[4] != EMPTY || @disconnected || @in_flight >= @concurrency
        @log.warn('dropped request', frames: frames.size, in_flight: @in_flight, disconnected: @disconnected)
        return
      end
      @in_flight += 1
      job = prepare(frames[5], AgoraBus.decode_meta(frames[6]))
      item = [@generation, frames[3], job]
      job.is_a?(String) ? @done << item : @jobs << item
    end

    # The reply body when it needs no handler, else a Proc computing it on a job thread.
    def prepare(body, meta)
      kind, msgid, method, params, = AgoraBus.decode_message(body)
      return EMPTY if kind == 1 # a response sent to a worker: nothing to say, but REPLY frees the slot

      # A notification is answered by one empty body: MDP needs the REPLY to free the slot.
      respond = lambda do |error, result|
        msgid.nil? ? EMPTY : AgoraBus.pack([1, msgid, error, error.nil? ? result : nil])
      end
      deadline = meta['deadline']
      if deadline.is_a?(Numeric) && deadline <= AgoraBus.now_ms
        return respond.call(AgoraError.new('AGORA_ERR_BUS_TIMEOUT', "Call to #{@service}.#{method} passed its deadline").to_wire, nil)
      end

      handler = @handlers[method]
      return -> { invoke(handler, method, params, meta, respond) } if handler

      respond.call(AgoraError.new('AGORA_ERR_RPC_NO_METHOD', "Service #{@service} has no method #{method}").to_wire, nil)
    rescue ArgumentError => e
      error = AgoraError.new('AGORA_ERR_BUS_BAD_MESSAGE', "Malformed bus message: #{e.message}")
      AgoraBus.pack([1, AgoraBus.peek_msgid(body), error.to_wire, nil])
    end

    # Runs on a job thread; never raises.
    def invoke(handler, method, params, meta, respond)
      req_id = meta['reqId'].is_a?(String) ? meta['reqId'] : nil
      Thread.current[:agora_bus_meta] = meta
      @log.debug('call', method: method, reqId: req_id, caller: meta['caller'].is_a?(String) ? meta['caller'] : 'bus')
      begin
        result = call_handler(handler, method, params)
        error = nil
      rescue AgoraError => e
        result = nil
        error = e.to_wire
      rescue StandardError => e
        @log.error('handler failed', err: AgoraBus.err_fields(e), method: method, reqId: req_id)
        result = nil
        error = INTERNAL
      ensure
        Thread.current[:agora_bus_meta] = nil
      end
      @log.debug('call done', method: method, reqId: req_id, ok: error.nil?)
      encode_reply(respond, error, result, method, req_id)
    end

    def encode_reply(respond, error, result, method, req_id)
      respond.call(error, result)
    rescue StandardError => e
      @log.error('reply could not be encoded', err: AgoraBus.err_fields(e), method: method, reqId: req_id)
      respond.call(INTERNAL, nil)
    end

    def call_handler(handler, method, params)
      low, high = @arities[method]
      if low && (params.size < low || (high && params.size > high))
        raise AgoraError.new('AGORA_ERR_RPC_BAD_PARAMS', "Invalid parameters: #{method} takes #{describe_arity(low, high)}, got #{params.size}")
      end

      handler.call(*params)
    end

    # [fewest, most (nil: no limit)] params the handler takes, read once; nil when it cannot say.
    def arity_of(handler)
      return nil unless handler.respond_to?(:parameters)

      kinds = handler.parameters.map(&:first)
      low = kinds.count(:req)
      [low, kinds.include?(:rest) ? nil : low + kinds.count(:opt)]
    end

    def describe_arity(low, high)
      return "at least #{low} params" if high.nil?

      low == high ? "#{low} params" : "#{low} to #{high} params"
    end

    def job_loop
      while (item = @jobs.pop)
        generation, client, job = item
        body = nil
        begin
          body = job.call
        rescue Exception => e # rubocop:disable Lint/RescueException -- answer, and keep this thread serving
          @log.error('handler escaped', err: AgoraBus.err_fields(e))
        ensure
          @done << [generation, client, body || AgoraBus.pack([1, 0, INTERNAL, nil])]
          wake
        end
      end
    end

    # Send the REPLY of every finished request whose socket is still the one it came on.
    def finish_jobs
      until @done.empty?
        generation, client, body = @done.pop
        # Replaced, or forgotten by the broker: it already failed that call.
        next if generation != @generation || @socket.nil? || @disconnected

        @in_flight -= 1
        # With slots, the broker matches the REPLY by client address and the response's msgid.
        send_frames([EMPTY, MDPW01, REPLY, client, EMPTY, body])
        say_disconnect if @draining && @in_flight.zero?
      end
    end

    # RFC 7 leaves one race: serve any REQUEST already here before saying DISCONNECT (docs/PROTOCOL.md §3).
    def begin_stop
      @draining = true
      receive if @socket
      @log.info('draining', busy: @in_flight, **(@stop_signal ? { signal: @stop_signal } : {}))
      return if @disconnected

      if @in_flight.zero? then say_disconnect
      elsif @concurrency > 1 then ask_for_no_more
      end
    end

    # Under load the broker fills each slot a REPLY frees, so a worker with slots would never hold
    # nothing: ask for no more (docs/PROTOCOL.md §3). A plain worker holds nothing after each REPLY.
    def ask_for_no_more
      @asked = true
      @log.info('draining: asked the broker for no more requests', inFlight: @in_flight)
      heartbeat
    end

    # Only once nothing is held, so the broker serves elsewhere only what never ran.
    def say_disconnect
      send_frames([EMPTY, MDPW01, DISCONNECT])
      @disconnected = true
    end

    def shutdown
      close(1000) # linger lets DISCONNECT and the last REPLY leave
      @jobs.close
      @ctx.terminate
      @wake_r.close
      @wake_w.close
      @log.info('stopped')
    end

    def wake
      @wake_w.write_nonblock('x', exception: false)
    rescue IOError, SystemCallError
      nil # closed: the worker has stopped
    end

    def drain_wake
      loop { break unless @wake_r.read_nonblock(4096, exception: false).is_a?(String) }
    end

    # ---- the link to the broker: the socket monitor's CONNECTED and DISCONNECTED events ----

    def watch_link(sock)
      address = "inproc://agora-monitor-#{object_id}-#{@generation}"
      events = ZMQ::EVENT_CONNECTED | ZMQ::EVENT_DISCONNECTED
      return unless LibZMQ.zmq_socket_monitor(sock.socket, address, events).zero?

      @monitor = @ctx.socket(ZMQ::PAIR)
      @monitor.setsockopt(ZMQ::LINGER, 0)
      @monitor.connect(address)
      @poller.register_readable(@monitor)
    end

    def on_monitor(monitor)
      while @monitor.equal?(monitor)
        frames = []
        return unless ZMQ::Util.resultcode_ok?(monitor.recv_strings(frames, ZMQ::DONTWAIT))

        # libzmq 4 monitor event: frame 0 = uint16 event + uint32 value, frame 1 = endpoint.
        case frames[0].unpack1('S')
        when ZMQ::EVENT_DISCONNECTED then @linked = false
        when ZMQ::EVENT_CONNECTED then on_connected
        end
      end
    end

    # The broker's silence counts from when it can hear us: a READY reaching a broker just
    # (re)started must not be abandoned before its first HEARTBEAT arrives.
    def on_connected
      @linked = true
      @expiry = AgoraBus.monotonic + @heartbeat_s * @liveness
      return if @announced

      @announced = true
      @on_ready&.call
    end

    def drop_monitor
      return if @monitor.nil?

      @poller.delete(@monitor)
      LibZMQ.zmq_socket_monitor(@socket.socket, nil, 0) if @socket
      @monitor.close
      @monitor = nil
    end
  end
end
