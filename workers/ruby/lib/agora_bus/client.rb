# frozen_string_literal: true

module AgoraBus
  # Call services on the bus (docs/PROTOCOL.md §2). One DEALER socket; calls from several
  # threads are served one after the other.
  #
  # Several brokers: the socket connects to each and libzmq hands each call to the next one
  # connected (ZMQ_IMMEDIATE: a broker whose connection is down gets none; a call made while none
  # is connected waits for one until its deadline). A call held by a broker lost meanwhile gets
  # no answer: it fails at its deadline with AGORA_ERR_BUS_TIMEOUT.
  class Client
    # `curve`: CURVE options as AgoraBus.read_curve gives them; nil takes the environment's, false none.
    def initialize(endpoint: nil, timeout_ms: 5000, caller: nil, curve: nil)
      config = AgoraBus.env_config
      @endpoint = endpoint || config[:endpoint]
      @timeout_ms = timeout_ms
      @caller = caller
      @ctx = ZMQ::Context.new
      @socket = @ctx.socket(ZMQ::DEALER)
      @socket.setsockopt(ZMQ::LINGER, 0)
      @several = AgoraBus.endpoints_of(@endpoint).size > 1
      @socket.setsockopt(ZMQ::IMMEDIATE, 1) if @several # queue only to brokers whose connection is up
      AgoraBus.apply_curve(@socket, curve.nil? ? config[:curve] : curve || nil)
      AgoraBus.endpoints_of(@endpoint).each { |e| @socket.connect(e) }
      @poller = ZMQ::Poller.new
      @poller.register_readable(@socket)
      @next_id = 0
      @stale_mmi = 0 # MMI answers carry no msgid: count those given up on, to skip them
      @lock = Mutex.new
    end

    # service.method(*params): the result, or raises AgoraError (the remote one, or AGORA_ERR_BUS_TIMEOUT).
    def call(service, method, params = [], timeout_ms: nil, req_id: nil, user: nil)
      @lock.synchronize do
        @next_id = @next_id >= MAX_MSGID ? 1 : @next_id + 1
        msgid = @next_id
        deadline = AgoraBus.now_ms + (timeout_ms || @timeout_ms)
        meta = { 'deadline' => deadline }
        meta['reqId'] = req_id if req_id
        meta['caller'] = @caller if @caller
        meta['user'] = user if user # counts under CURVE only from a key granted act_for_users
        send_frames([EMPTY, MDPC01, service.b, AgoraBus.pack([0, msgid, method, params.to_a]), AgoraBus.pack(meta)],
                    deadline)
        await_reply(msgid, deadline, "#{service}.#{method}")
      end
    end

    # Whether the broker has a worker for `name` (RFC 8 mmi.service).
    def service?(name, timeout_ms: nil)
      @lock.synchronize do
        deadline = AgoraBus.now_ms + (timeout_ms || @timeout_ms)
        send_frames([EMPTY, MDPC01, MMI_SERVICE, name.b], deadline)
        frames = receive(deadline, mmi: true)
        if frames.nil?
          @stale_mmi += 1
          raise AgoraError.new('AGORA_ERR_BUS_TIMEOUT', 'Call to mmi.service passed its deadline')
        end
        frames[3] == '200'.b
      end
    end

    def close
      @lock.synchronize do
        return if @socket.nil?

        @socket.close
        @socket = nil
        @ctx.terminate
      end
    end

    private

    def await_reply(msgid, deadline, what)
      loop do
        frames = receive(deadline, mmi: false)
        raise AgoraError.new('AGORA_ERR_BUS_TIMEOUT', "Call to #{what} passed its deadline") if frames.nil?

        kind, got, _, _, error, result = begin
          AgoraBus.decode_message(frames[3])
        rescue ArgumentError
          next
        end
        next if kind != 1 || got != msgid # a late answer to a call that timed out
        raise AgoraError.from_wire(error) unless error.nil?

        return result
      end
    end

    def send_frames(frames, deadline)
      raise AgoraError.new('AGORA_ERR_BUS_CLOSED', 'Call on a closed bus client') if @socket.nil?

      loop do
        return if ZMQ::Util.resultcode_ok?(@socket.send_strings(frames, ZMQ::DONTWAIT))

        # Several brokers (ZMQ_IMMEDIATE): none is connected yet, or now; wait for one.
        left = deadline - AgoraBus.now_ms
        unless @several && left.positive? && writable(left)
          raise AgoraError.new('AGORA_ERR_BUS_DISCONNECTED', 'Broker unreachable: send queue full')
        end
      end
    end

    def writable(left_ms)
      poller = ZMQ::Poller.new
      poller.register_writable(@socket)
      poller.poll(left_ms.ceil).positive?
    end

    # The next [""][MDPC01][service][body] of the wanted kind (MMI or not), or nil at the deadline.
    def receive(deadline, mmi:)
      loop do
        left = deadline - AgoraBus.now_ms
        return nil if left <= 0
        next unless @poller.poll(left.ceil).positive?

        frames = []
        next unless ZMQ::Util.resultcode_ok?(@socket.recv_strings(frames, ZMQ::DONTWAIT))
        # Malformed, or the empty REPLY to a notification.
        next if frames.size < 4 || frames[0] != EMPTY || frames[1] != MDPC01 || frames[3].empty?

        return frames if wanted?(frames, mmi)
      end
    end

    def wanted?(frames, mmi)
      return !mmi unless frames[2].start_with?('mmi.')

      if @stale_mmi.positive?
        @stale_mmi -= 1
        return false
      end
      mmi
    end
  end
end
