// Original file: proto/routes.proto


export interface TableRequest {
}

export interface TableRequest__Output {
}
