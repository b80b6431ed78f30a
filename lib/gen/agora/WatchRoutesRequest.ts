// Original file: proto/routes.proto


export interface WatchRoutesRequest {
}

export interface WatchRoutesRequest__Output {
}
